package guildvm

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the host's Prometheus series. No label carries a guild id: every label takes a handful of
// fixed values.
type metrics struct {
	live         prometheus.Gauge
	created      *prometheus.CounterVec // start: cow | copy
	evicted      *prometheus.CounterVec // reason: idle | lru | close
	broken       *prometheus.CounterVec // reason: memory | trap | start
	dispatch     *prometheus.HistogramVec
	fuel         prometheus.Counter
	refills      prometheus.Counter
	guestMemory  prometheus.Gauge
	starts       *prometheus.CounterVec // from: recycled | spare | image | install
	imagesStored prometheus.Counter
	spares       prometheus.Gauge
	errors       *prometheus.CounterVec // kind: script | time_limit | memory | trap | broken | capacity | canceled | internal | template
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "palisade", "guildvm"
	m := &metrics{
		live: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "instances_live",
			Help: "Guild wasm instances currently alive."}),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "instances_created_total",
			Help: "Guild instances created from the snapshot, by restore method."}, []string{"start"}),
		evicted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "instances_evicted_total",
			Help: "Guild instances closed, by reason."}, []string{"reason"}),
		broken: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "instances_broken_total",
			Help: "Guild instances marked broken (rebuilt on the next event), by reason."}, []string{"reason"}),
		dispatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "dispatch_seconds",
			Help:    "Time from Dispatch to its result, including waits on the host.",
			Buckets: []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 1e-3, 5e-3, 25e-3, 100e-3, 1, 10, 60}}, []string{"outcome"}),
		fuel: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "fuel_granted_total",
			Help: "Fuel units granted to guests by the fuel import."}),
		refills: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "fuel_refills_total",
			Help: "Calls of the fuel import (each one is a return of the guest to Go)."}),
		guestMemory: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "guest_memory_bytes",
			Help: "Sum of the linear memory sizes of live guild instances (virtual; untouched snapshot pages are shared)."}),
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "instance_starts_total",
			Help: "Guild instances started: from an evicted guild's instance reset to the image (recycled), from a spare started ahead of time, restored from a ready image (base or template image), or from the base image plus installs."}, []string{"from"}),
		imagesStored: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "template_images_stored_total",
			Help: "Template images stored (a template set installed cleanly for the second time)."}),
		spares: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "instances_spare",
			Help: "Instances started ahead of time from popular template images, not yet given to a guild."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "errors_total",
			Help: "Dispatch errors by kind."}, []string{"kind"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.live, m.created, m.evicted, m.broken, m.dispatch, m.fuel, m.refills, m.guestMemory, m.starts, m.imagesStored, m.spares, m.errors} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

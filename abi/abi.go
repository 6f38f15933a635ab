// Package abi is the single source of truth for Palisade's guest ABI: the versioned wasm import module
// (palisade_v1) through which a guild's sandboxed Luau interpreter reaches the host, the guest exports the host
// runtime drives (the event protocol), and the one binary encoding of Luau values that crosses the boundary.
//
// The human-readable specification is abi/SPEC.md; the machine-readable form is abi/abi.json, embedded here
// and exposed as [Current]. Tests compare the built guest's real import and export sections with it
// ([CheckLayout]), so the document cannot drift from the binary.
//
// Value encoding: [Encode] and [Decode] convert between bytes and Go values: nil (absent), [Null]
// (interop.null), bool, int64, float64, string, [Buffer], []Value lists and ordered *[Map]s.
package abi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
)

//go:embed abi.json
var specJSON []byte

// SpecJSON returns the embedded abi.json bytes.
func SpecJSON() []byte { return append([]byte(nil), specJSON...) }

// Param is one named wasm parameter.
type Param struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Func is one import or export of the spec.
type Func struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind,omitempty"` // exports: "func", "memory" or "global"; imports: always func
	Params     []Param  `json:"params,omitempty"`
	Results    []string `json:"results,omitempty"`
	Type       string   `json:"type,omitempty"` // globals
	Mutable    bool     `json:"mutable,omitempty"`
	Capability string   `json:"capability,omitempty"`
	Owner      string   `json:"owner,omitempty"`
	Doc        string   `json:"doc,omitempty"`
}

// ParamTypes returns the wasm types of the parameters ("i32", "i64", "f32", "f64").
func (f Func) ParamTypes() []string {
	out := make([]string, len(f.Params))
	for i, p := range f.Params {
		out[i] = p.Type
	}
	return out
}

// Signature renders the function as "name(a i32, b i32) -> i64".
func (f Func) Signature() string {
	s := f.Name + "("
	for i, p := range f.Params {
		if i > 0 {
			s += ", "
		}
		s += p.Name + " " + p.Type
	}
	s += ")"
	switch len(f.Results) {
	case 0:
	case 1:
		s += " -> " + f.Results[0]
	default:
		s += fmt.Sprintf(" -> %v", f.Results)
	}
	return s
}

// Limits are the ABI's size bounds.
type Limits struct {
	MaxValueBytes     int `json:"max_value_bytes"`
	MaxValueDepth     int `json:"max_value_depth"`
	MaxOpNameBytes    int `json:"max_op_name_bytes"`
	MaxEventNameBytes int `json:"max_event_name_bytes"`
	MaxWriteBytes     int `json:"max_write_bytes"`
	MaxPendingCalls   int `json:"max_pending_calls"`
	MailboxBytes      int `json:"mailbox_bytes"`
}

// Previous describes the previous ABI version that the host still accepts.
type Previous struct {
	Version uint32   `json:"version"`
	Module  string   `json:"module"`
	Doc     string   `json:"doc"`
	Imports []string `json:"imports"`
	Exports []string `json:"exports"`
}

// MailboxField is one field of the step mailbox.
type MailboxField struct {
	Offset int    `json:"offset"`
	Name   string `json:"name"`
	Type   string `json:"type"`
}

// Spec is the decoded abi.json.
type Spec struct {
	Name             string           `json:"name"`
	Module           string           `json:"module"`
	Version          uint32           `json:"version"`
	AcceptedVersions []uint32         `json:"accepted_versions"`
	Doc              string           `json:"doc"`
	Limits           Limits           `json:"limits"`
	Imports          []Func           `json:"imports"`
	Exports          []Func           `json:"exports"`
	SyscallStatus    map[string]int32 `json:"syscall_status"`
	Step             map[string]int32 `json:"step"`
	Mailbox          []MailboxField   `json:"mailbox"`
	ValueTags        map[string]uint8 `json:"value_tags"`
	Previous         Previous         `json:"previous"`
}

// Import returns the import named name.
func (s *Spec) Import(name string) (Func, bool) {
	for _, f := range s.Imports {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}

// Export returns the export named name.
func (s *Spec) Export(name string) (Func, bool) {
	for _, f := range s.Exports {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}

// ParseSpec decodes an abi.json document and checks its internal consistency.
func ParseSpec(b []byte) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("abi.json: %w", err)
	}
	if s.Module != ModuleName(s.Version) {
		return nil, fmt.Errorf("abi.json: module %q does not carry version %d", s.Module, s.Version)
	}
	seen := map[string]bool{}
	for _, f := range s.Imports {
		if seen["i:"+f.Name] {
			return nil, fmt.Errorf("abi.json: duplicate import %q", f.Name)
		}
		seen["i:"+f.Name] = true
	}
	for _, f := range s.Exports {
		if seen["e:"+f.Name] {
			return nil, fmt.Errorf("abi.json: duplicate export %q", f.Name)
		}
		seen["e:"+f.Name] = true
	}
	return &s, nil
}

// Current is the ABI spec this build of the host speaks (abi.json). It must not be modified.
var Current = mustSpec()

func mustSpec() *Spec {
	s, err := ParseSpec(specJSON)
	if err != nil {
		panic(err) // only reachable if the embedded file is broken; caught by the package tests
	}
	return s
}

// ModuleName returns the import module name of ABI version v ("palisade_v1").
func ModuleName(v uint32) string { return fmt.Sprintf("palisade_v%d", v) }

// Version is the ABI version this host speaks.
const Version = 1

// Syscall status codes (high 32 bits of the syscall import's i64 result). See SPEC.md §4.
const (
	SysOK        int32 = 0
	SysError     int32 = 1
	SysPending   int32 = 2
	SysParked    int32 = 3
	SysEBadPtr   int32 = -1
	SysEUnknown  int32 = -2
	SysEDenied   int32 = -3
	SysERate     int32 = -4
	SysETooLarge int32 = -5
	SysEBadArg   int32 = -6
	SysEBusy     int32 = -7
	SysEInternal int32 = -8
	SysENotAsync int32 = -9
)

// Step codes returned by pal_event_start/resume/cancel. See SPEC.md §5.
const (
	StepDone        int32 = 0
	StepFailed      int32 = 1
	StepPending     int32 = 2
	StepIdle        int32 = 3
	StepENotBooted  int32 = -1
	StepEBadCall    int32 = -2
	StepENoMem      int32 = -3
	StepEBadPayload int32 = -4
)

// Resume statuses passed to pal_event_resume.
const (
	ResumeOK    int32 = 0
	ResumeError int32 = 1
)

// TakeOp is the reserved syscall op that fetches a PARKED result.
const TakeOp = "$take"

// Sorted returns names sorted, for stable output.
func sorted(m map[string]int32) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] < m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

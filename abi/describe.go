package abi

import (
	"fmt"
	"io"
	"strings"
)

// Describe prints the ABI surface and version for reviewers (the output of `palisade abi`).
func Describe(w io.Writer) error {
	s := Current
	var b strings.Builder
	fmt.Fprintf(&b, "Palisade guest ABI version %d (import module %q); accepted guest versions: %v\n", s.Version, s.Module, s.AcceptedVersions)
	fmt.Fprintf(&b, "spec: %s\n\nimports (guest -> host), module %s:\n", s.Doc, s.Module)
	for _, f := range s.Imports {
		fmt.Fprintf(&b, "  %s\n", f.Signature())
		if f.Capability != "" {
			fmt.Fprintf(&b, "      capability: %s\n", f.Capability)
		}
		fmt.Fprintf(&b, "      %s\n", f.Doc)
	}
	b.WriteString("\nexports (host -> guest):\n")
	for _, f := range s.Exports {
		switch f.Kind {
		case "memory":
			fmt.Fprintf(&b, "  memory %s\n", f.Name)
		case "global":
			mut := ""
			if f.Mutable {
				mut = "mut "
			}
			fmt.Fprintf(&b, "  global %s: %s%s\n", f.Name, mut, f.Type)
		default:
			fmt.Fprintf(&b, "  %s   [%s]\n      %s\n", f.Signature(), f.Owner, f.Doc)
		}
	}
	b.WriteString("\nsyscall status (high 32 bits of the i64 result):\n")
	for _, k := range sorted(s.SyscallStatus) {
		fmt.Fprintf(&b, "  %4d %s\n", s.SyscallStatus[k], k)
	}
	b.WriteString("\nevent step codes (pal_event_* results):\n")
	for _, k := range sorted(s.Step) {
		fmt.Fprintf(&b, "  %4d %s\n", s.Step[k], k)
	}
	b.WriteString("\nmailbox (pal_abi_mailbox, little-endian):\n")
	for _, m := range s.Mailbox {
		fmt.Fprintf(&b, "  +%-2d %-4s %s\n", m.Offset, m.Type, m.Name)
	}
	b.WriteString("\nvalue tags:\n")
	tags := map[string]int32{}
	for k, v := range s.ValueTags {
		tags[k] = int32(v)
	}
	for _, k := range sorted(tags) {
		fmt.Fprintf(&b, "  0x%02x %s\n", tags[k], k)
	}
	l := s.Limits
	fmt.Fprintf(&b, "\nlimits: value %d bytes, depth %d, op name %d bytes, event name %d bytes, write %d bytes, %d pending calls per instance\n",
		l.MaxValueBytes, l.MaxValueDepth, l.MaxOpNameBytes, l.MaxEventNameBytes, l.MaxWriteBytes, l.MaxPendingCalls)
	fmt.Fprintf(&b, "previous version %d: %s\n", s.Previous.Version, s.Previous.Doc)
	_, err := io.WriteString(w, b.String())
	return err
}

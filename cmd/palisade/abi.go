package main

import (
	"fmt"
	"io"

	"github.com/palisade-bot/palisade/abi"
)

// runABI implements `palisade abi [--json]`: it prints the guest ABI surface and version for reviewers, from the
// embedded abi/abi.json. Hook: in run's switch, `case "abi": return runABI(args[1:], stdout, stderr)`.
func runABI(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		if err := abi.Describe(stdout); err != nil {
			fmt.Fprintf(stderr, "palisade abi: %v\n", err)
			return 1
		}
		return 0
	case len(args) == 1 && args[0] == "--json":
		if _, err := stdout.Write(abi.SpecJSON()); err != nil {
			return 1
		}
		return 0
	default:
		fmt.Fprintln(stderr, "usage: palisade abi [--json]")
		return 2
	}
}

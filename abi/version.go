package abi

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Compat describes a guest the host accepted.
type Compat struct {
	Version uint32 // the ABI version the guest was built for
	Events  bool   // the event protocol (pal_event_*) and the syscall door are available (version >= 1)
}

func acceptedList() string {
	var parts []string
	for _, v := range Current.AcceptedVersions {
		if v != Current.Version {
			parts = append(parts, strconv.FormatUint(uint64(v), 10))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("this host speaks ABI version %d only", Current.Version)
	}
	return fmt.Sprintf("this host speaks ABI version %d and also accepts version %s", Current.Version, strings.Join(parts, ", "))
}

// CheckVersion reports whether the host accepts a guest that announces ABI version v (through its
// pal_abi_version export). The error names both the guest's and the host's versions.
func CheckVersion(v uint32) error {
	for _, a := range Current.AcceptedVersions {
		if a == v {
			return nil
		}
	}
	return fmt.Errorf("guest ABI version %d is not supported: %s", v, acceptedList())
}

func typeNames(ts []api.ValueType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = api.ValueTypeName(t)
	}
	return out
}

func sameSig(def api.FunctionDefinition, f Func) bool {
	return strings.Join(typeNames(def.ParamTypes()), ",") == strings.Join(f.ParamTypes(), ",") &&
		strings.Join(typeNames(def.ResultTypes()), ",") == strings.Join(f.Results, ",")
}

func versionOfModule(mod string) (uint32, bool) {
	rest, ok := strings.CutPrefix(mod, "palisade_v")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(rest, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(v), true
}

// CheckCompiled checks a compiled guest's imports and exports statically and returns the ABI version its
// layout implies. An unknown versioned import module ("palisade_v2") is refused with an error naming both
// versions; any other import module (WASI, env, ...) is refused because the host provides none.
func CheckCompiled(cm wazero.CompiledModule) (Compat, error) {
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		if mod != Current.Module && mod != Current.Previous.Module {
			if v, ok := versionOfModule(mod); ok {
				return Compat{}, fmt.Errorf("guest was built for ABI version %d (it imports module %q): %s", v, mod, acceptedList())
			}
			return Compat{}, fmt.Errorf("guest imports %s.%s, but the host provides only module %q", mod, name, Current.Module)
		}
		f, ok := Current.Import(name)
		if !ok {
			return Compat{}, fmt.Errorf("guest imports unknown function %s.%s (ABI version %d has %s)", mod, name, Current.Version, importNames())
		}
		if !sameSig(def, f) {
			return Compat{}, fmt.Errorf("guest import %s.%s has signature (%s) -> (%s); ABI version %d defines %s",
				mod, name, strings.Join(typeNames(def.ParamTypes()), ", "), strings.Join(typeNames(def.ResultTypes()), ", "), Current.Version, f.Signature())
		}
	}
	if len(cm.ImportedMemories()) > 0 {
		return Compat{}, fmt.Errorf("guest imports a memory; it must define and export its own")
	}
	exps := cm.ExportedFunctions()
	vf, ok := exps["pal_abi_version"]
	if !ok || len(vf.ParamTypes()) != 0 || len(vf.ResultTypes()) != 1 || vf.ResultTypes()[0] != api.ValueTypeI32 {
		return Compat{}, fmt.Errorf("guest does not export pal_abi_version() -> i32, so its ABI version is unknown: %s", acceptedList())
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return Compat{}, fmt.Errorf("guest does not export its memory as \"memory\"")
	}
	layout := Current.Previous.Version
	if _, ok := exps["pal_event_start"]; ok {
		layout = Current.Version
	}
	if layout == Current.Version {
		for _, f := range Current.Exports {
			if f.Kind != "func" {
				continue
			}
			def, ok := exps[f.Name]
			if !ok {
				return Compat{}, fmt.Errorf("guest (ABI version %d layout) does not export %s", layout, f.Signature())
			}
			if !sameSig(def, f) {
				return Compat{}, fmt.Errorf("guest export %s has signature (%s) -> (%s); ABI version %d defines %s",
					f.Name, strings.Join(typeNames(def.ParamTypes()), ", "), strings.Join(typeNames(def.ResultTypes()), ", "), layout, f.Signature())
			}
		}
		return Compat{Version: layout, Events: true}, nil
	}
	for _, name := range Current.Previous.Exports {
		if name == "memory" {
			continue
		}
		if _, ok := exps[name]; !ok {
			return Compat{}, fmt.Errorf("guest (ABI version %d layout) does not export %s", layout, name)
		}
	}
	for _, def := range cm.ImportedFunctions() {
		_, name, _ := def.Import()
		found := false
		for _, n := range Current.Previous.Imports {
			found = found || n == name
		}
		if !found {
			return Compat{}, fmt.Errorf("guest imports %s, which ABI version %d does not have", name, layout)
		}
	}
	return Compat{Version: layout}, nil
}

func importNames() string {
	var n []string
	for _, f := range Current.Imports {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

// Negotiate runs CheckCompiled, then calls the instance's pal_abi_version export (call it right after
// instantiation, before pal_boot) and checks that the announced version is accepted and matches the layout.
func Negotiate(ctx context.Context, cm wazero.CompiledModule, mod api.Module) (Compat, error) {
	c, err := CheckCompiled(cm)
	if err != nil {
		return Compat{}, err
	}
	fn := mod.ExportedFunction("pal_abi_version")
	if fn == nil {
		return Compat{}, fmt.Errorf("guest does not export pal_abi_version")
	}
	res, err := fn.Call(ctx)
	if err != nil {
		return Compat{}, fmt.Errorf("pal_abi_version: %w", err)
	}
	v := uint32(res[0])
	if err := CheckVersion(v); err != nil {
		return Compat{}, err
	}
	if v != c.Version {
		return Compat{}, fmt.Errorf("guest announces ABI version %d but its imports and exports have the version %d layout", v, c.Version)
	}
	return c, nil
}

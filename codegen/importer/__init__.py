"""`layoutgen import`: read the layout of types a C header declares, per arch, from the debug
info gcc writes for them, and write a spec that describes them (issue 18).

Steps, one module each: `probe` compiles the header per arch, `read` turns DWARF into the
neutral declarations of `model`, `names` maps C names to spec names through the spec grammar,
`merge` folds the arches into one declaration per type, `writer` builds the spec and proves
it against the compiler's layout with layoutgen's own engine, and `command` is the CLI.
"""

"""Commands for people who look at a layout rather than compile it: a pahole-style
report, generated docs with diagrams, a record decoder, the spec's JSON Schema and an
ABI diff. Each concern lives in its own module; `commands` wires them into the CLI."""

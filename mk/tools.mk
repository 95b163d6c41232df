# Tools (issue 9). The docs are a pipeline target, so `make generate` already writes
# generated/docs; this adds the spec language's JSON Schema, committed next to the spec
# (`layoutgen check` fails when it is stale), so `make generate` keeps it current too.

.PHONY: schema

schema: $(STAMP)
	$(PY) -m codegen schema --out spec/layoutgen.schema.json

generate: schema

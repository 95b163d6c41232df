"""One module per output language. Each exposes `render(ctx) -> dict[path, text]`."""

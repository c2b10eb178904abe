"""HTTP API: thin FastAPI routers that parse, call one function and render."""

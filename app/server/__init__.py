"""The local HTTP API (FastAPI), served by uvicorn inside the app's own event loop."""

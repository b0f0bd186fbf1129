from .routes import router  # noqa: F401

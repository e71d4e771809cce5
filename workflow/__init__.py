"""zyz workflow: definitions, engine, data model and services of the professional towns case system."""

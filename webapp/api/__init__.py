"""The JSON API under /api/v1: Bearer tokens, the same services as the pages, an OpenAPI document."""

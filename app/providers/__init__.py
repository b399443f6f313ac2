"""Provider adapters: one module per provider, named by its `provider_id`."""

"""The patient registry: model, store, validated import, audit trail, export."""

"""Scaffolding: ``tinyrel init`` for a real model and ``tinyrel init --example`` for the seed."""

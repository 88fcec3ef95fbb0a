"""The model card: front matter from huggingface_hub's ModelCardData, body from a Jinja2 template."""

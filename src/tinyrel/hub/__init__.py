"""The Hugging Face Hub side: publishing releases and reading repositories, via huggingface_hub."""

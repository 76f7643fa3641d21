"""The opponent: Mistral when there is a key, with the built-in engine in front of every failure."""

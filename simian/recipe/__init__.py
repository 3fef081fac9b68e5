"""The scene recipe: the combination model, its vocabulary, the structured caption, its assets checked."""

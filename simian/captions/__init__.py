"""Caption text from the scene plan: the long caption claim by claim, and the other styles."""

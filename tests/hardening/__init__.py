"""Issue 14: hostile users and hostile input get nowhere, and nobody can stall the bot."""

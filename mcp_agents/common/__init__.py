"""Code shared by the reference agents: db, Spanish parsing, dialogue, server bootstrap."""

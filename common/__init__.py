"""Generic building blocks shared by graph/ and server/ (they import neither)."""

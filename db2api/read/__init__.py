"""Reading: a window's rows from the source (extract) become documents (build)."""

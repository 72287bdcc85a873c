"""The book layer over the saddle library: the verdict rule and the claims as data, each chapter's reading of the
records (tables, figures, the numbers its prose quotes) and the notebook helpers. It reads records; the library
(saddle) trains and measures, and never imports this package."""

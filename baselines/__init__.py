"""Reference W2S methods, each written exactly as a submission would be."""

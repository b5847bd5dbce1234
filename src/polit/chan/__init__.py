"""4chan API: HTTP client with the API rules, post normalisation and comment parsing."""

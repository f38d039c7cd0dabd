// Package labels is Marathon's label selector, the ?label= filter of
// GET /v2/apps: "k", "k==v", "k!=v", "k in (a,b)", "k notin (a,b)".
package labels

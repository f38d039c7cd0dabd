// Package apierr is the errors the api's handlers return and what each
// becomes: Response maps an error to its status and Marathon's error body
// ({"message": ..., "details": [...]}); a 5xx body never carries internals.
package apierr

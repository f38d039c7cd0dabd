// Package testimage builds the images Drover's Docker tests run, from this
// repository alone: the machines that run the tests reach no registry.
//
// BuildHTTPD gives a test the httpd stand-in image (cmd/httpd in
// deploy/httpd/Dockerfile); Build does the same for a command or a Taskfile.
package testimage

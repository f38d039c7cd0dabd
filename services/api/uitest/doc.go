// Package uitest drives the web UI in a real headless Chromium (Debian's
// chromium package, through chromedp) against a real api, scheduler and
// agents on the in-memory runtime, all in process.
//
// The tests skip where no chromium is installed, unless CI=true, where they
// fail (.ci/run installs it). DROVER_UI_SCREENSHOTS=docs/screenshots (a
// directory, relative to the repository root) makes them write the
// screenshots the README shows.
package uitest

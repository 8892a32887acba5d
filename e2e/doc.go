// Package e2e holds ssehub's end-to-end tests: a real headless Chromium
// drives the web console (and the seed demo page it grew from) against the
// whole server, as started by package app; the CLI, the examples in PHP,
// Node.js and the browser, nginx in front and the container image (built
// and run with podman) are tested against real servers too.
//
// The tests need what scripts/deps.sh installs (Chromium at
// /usr/bin/chromium, php-cli, Node.js, nginx, redis-server, podman and
// slirp4netns). Without it they skip, except under CI=true, where they
// fail. With SSEHUB_SCREENSHOT=path set, TestConsoleScreenshot saves a PNG
// of the console there (a relative path is taken from the repository
// root); with SSEHUB_STATS_SCREENSHOT=path, TestStatsPage saves one of the
// live stats page.
package e2e

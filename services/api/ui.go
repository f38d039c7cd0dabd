package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// uiFiles is the web UI: plain HTML, CSS and JavaScript modules, with no
// build step. It reads the same /v2 API as any client, follows /v2/events
// for live updates, and /v2/drover/cluster for the cluster view.
//
//go:embed ui
var uiFiles embed.FS

// UIPrefix is where the web UI is served, as Marathon serves its own.
const UIPrefix = "/ui/"

// uiCSP keeps the UI to its own files: no inline script or style
// attribute, no other origin.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// uiAsset is one embedded file, with the ETag of its content.
type uiAsset struct {
	data        []byte
	etag        string
	contentType string
}

// uiAssets reads every embedded file once.
func uiAssets() (map[string]uiAsset, error) {
	root, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		return nil, err
	}
	assets := map[string]uiAsset{}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(data)
		}
		assets[p] = uiAsset{data: data, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: ct}
		return nil
	})
	return assets, err
}

// registerUI serves the web UI at /ui/ (/ and /ui redirect there) and the
// endpoint only the UI needs, GET /v2/drover/cluster.
func (s *Server) registerUI(e *echo.Echo) {
	e.Match(readMethods, "/v2/drover/cluster", s.getCluster)
	assets, err := uiAssets()
	if err != nil {
		// The files are compiled in: this cannot happen in a built binary.
		s.logger.Error("web UI unavailable", "error", err)
		return
	}
	toUI := func(c echo.Context) error { return c.Redirect(http.StatusFound, UIPrefix) }
	methods := []string{http.MethodGet, http.MethodHead}
	e.Match(methods, "/", toUI)
	e.Match(methods, "/ui", toUI)
	e.Match(methods, UIPrefix+"*", func(c echo.Context) error {
		name := strings.TrimPrefix(path.Clean("/"+c.Param("*")), "/")
		if name == "" {
			name = "index.html"
		}
		a, ok := assets[name]
		if !ok {
			return echo.ErrNotFound
		}
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, a.contentType)
		h.Set("ETag", a.etag)
		// Revalidated every time: a new binary serves new files at once.
		h.Set(echo.HeaderCacheControl, "no-cache")
		h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if name == "index.html" {
			h.Set(echo.HeaderContentSecurityPolicy, uiCSP)
			h.Set(echo.HeaderXFrameOptions, "DENY")
		}
		http.ServeContent(c.Response(), c.Request(), name, time.Time{}, bytes.NewReader(a.data))
		return nil
	})
}

package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestPanicsBecome500(t *testing.T) {
	h := newHarness(t)
	h.srv.echo.GET("/boom", func(echo.Context) error { panic("secret internal detail") })
	var nilMap map[string]int
	h.srv.echo.GET("/boom2", func(echo.Context) error { nilMap["x"] = 1; return nil })
	for _, path := range []string{"/boom", "/boom2"} {
		rec := h.do(http.MethodGet, path, "")
		e := expect[errorBody](t, rec, http.StatusInternalServerError)
		if e.Message != "Internal Server Error" || strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("%s: body %s", path, rec.Body.String())
		}
	}
	// The server keeps serving.
	if rec := h.do(http.MethodGet, "/ping", ""); rec.Code != http.StatusOK {
		t.Errorf("ping after panic: %d", rec.Code)
	}
}

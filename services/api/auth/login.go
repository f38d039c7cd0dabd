package auth

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// The login endpoints, for browsers and the web UI:
//
//	GET  /auth/login?next=/ui/   the login form
//	POST /auth/login             form or JSON {"username","password"}: sets the session cookie
//	POST /auth/logout            clears it
//	GET  /auth/me                {"user","role","method"} of the caller, or 401
//
// The cookie (drover_session) is HttpOnly, SameSite=Strict, Secure over
// TLS; it is signed (HMAC-SHA256 with the credentials file's
// sessionSecret) and names the user, so it lasts until it expires
// (sessionTTL), the user's password or role changes, the user is removed,
// or the secret changes. A browser opening any page without it is sent to
// the form, and comes back to the page after logging in.

// loginCSP keeps the login page to itself: no script at all.
const loginCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drover: log in</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;display:flex;justify-content:center;margin-top:12vh}
form{background:#fff;padding:2em;border-radius:6px;box-shadow:0 1px 4px #0002;min-width:18em}
h1{font-size:1.3em;margin:0 0 1em}label{display:block;margin:.8em 0 .2em}
input{width:100%;box-sizing:border-box;padding:.5em}button{margin-top:1.2em;width:100%;padding:.6em}
.err{color:#b00020;margin:0 0 .5em}
</style></head><body>
<form method="post" action="/auth/login">
<h1>Drover</h1>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<input type="hidden" name="next" value="{{.Next}}">
<label for="u">User</label><input id="u" name="username" autocomplete="username" value="{{.User}}" autofocus required>
<label for="p">Password</label><input id="p" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form></body></html>
`))

type loginView struct{ Error, Next, User string }

// loginPage is GET /auth/login. Without authentication there is nothing
// to log in to: it goes straight to next.
func (g *Guard) loginPage(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if g.auth == nil {
		return c.Redirect(http.StatusFound, next)
	}
	return g.renderLogin(c, http.StatusOK, loginView{Next: next})
}

func (g *Guard) renderLogin(c echo.Context, status int, v loginView) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentSecurityPolicy, loginCSP)
	h.Set(echo.HeaderXFrameOptions, "DENY")
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return loginTmpl.Execute(c.Response(), v)
}

// login is POST /auth/login, from the form (answered with a redirect to
// next, or the form again with an error) or from a script with JSON
// (answered 200 with the identity, or 401).
func (g *Guard) login(c echo.Context) error {
	r := c.Request()
	asJSON := strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON)
	var in struct {
		Username string `json:"username" form:"username"`
		Password string `json:"password" form:"password"`
		Next     string `json:"next" form:"next"`
	}
	if asJSON {
		if err := g.opts.ReadJSON(c, 16<<10, &in); err != nil {
			return err
		}
	} else {
		r.Body = http.MaxBytesReader(c.Response(), r.Body, 16<<10)
		in.Username, in.Password, in.Next = r.FormValue("username"), r.FormValue("password"), r.FormValue("next")
	}
	next := safeNext(in.Next)
	if g.auth == nil {
		if asJSON {
			return g.opts.WriteJSON(c, http.StatusOK, IdentityOf(c))
		}
		return c.Redirect(http.StatusSeeOther, next)
	}
	g.auth.reload(false)
	creds := g.auth.creds.Load()
	u, err := g.auth.checkPasswordFrom(creds, in.Username, in.Password, sourceOf(c.Request().RemoteAddr))
	var throttled *throttledError
	if errors.As(err, &throttled) {
		g.refused("throttled")
		g.logger.Info("login braked", "user", in.Username, "remote", c.RealIP())
		if asJSON {
			return tooManyGuesses(c, throttled)
		}
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(throttled.retryAfter/time.Second)+1))
		return g.renderLogin(c, http.StatusTooManyRequests, loginView{Error: "Too many failed attempts: try again in a minute.", Next: next, User: in.Username})
	}
	if u == nil {
		g.refused("bad_credentials")
		g.logger.Info("login refused", "user", in.Username, "remote", c.RealIP())
		if asJSON {
			return echo.NewHTTPError(http.StatusUnauthorized, msgNotAuthenticated)
		}
		return g.renderLogin(c, http.StatusUnauthorized, loginView{Error: "Wrong user or password.", Next: next, User: in.Username})
	}
	value, exp := g.auth.newSession(creds, u, time.Now())
	c.SetCookie(&http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", Expires: exp, MaxAge: int(time.Until(exp).Seconds()),
		HttpOnly: true, Secure: g.auth.secure, SameSite: http.SameSiteStrictMode,
	})
	g.logger.Info("login", "user", u.name, "role", u.role, "remote", c.RealIP())
	if asJSON {
		return g.opts.WriteJSON(c, http.StatusOK, Identity{User: u.name, Role: u.role, Method: "session"})
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// logout is POST /auth/logout: the cookie is cleared (a copy kept
// elsewhere stays valid until it expires; change the password or the
// sessionSecret to end every session).
func (g *Guard) logout(c echo.Context) error {
	secure := g.auth != nil && g.auth.secure
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	if strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/html") {
		return c.Redirect(http.StatusSeeOther, loginPath)
	}
	return c.NoContent(http.StatusNoContent)
}

// whoami is GET /auth/me: the caller's identity, for the UI to show the
// user and hide what the role may not do.
func (g *Guard) whoami(c echo.Context) error {
	return g.opts.WriteJSON(c, http.StatusOK, IdentityOf(c))
}

// safeNext keeps a post-login redirect on this site: a path, not
// "//evil.example" or "/\evil.example"; anything else is the root.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

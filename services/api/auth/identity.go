package auth

import (
	"errors"

	"github.com/labstack/echo/v4"
)

// Identity is who made a request, once authenticated. Handlers find it
// with IdentityOf.
type Identity struct {
	User string `json:"user"`
	Role Role   `json:"role"`
	// Method is how the request was authenticated: basic, token, session,
	// or none (authentication is off).
	Method string `json:"method"`
}

const identityKey = "drover.identity"

// IdentityOf is the request's identity; with authentication off, an
// anonymous operator.
func IdentityOf(c echo.Context) Identity {
	if id, ok := c.Get(identityKey).(Identity); ok {
		return id
	}
	return Identity{User: "anonymous", Role: RoleOperator, Method: "none"}
}

// Authentication errors, answered 401 (or 403 for errForbidden and the
// browser checks).
var (
	errNoCredentials  = errors.New("no credentials")
	errBadCredentials = errors.New("wrong user, password, token or session")
)

// Marathon's words for the two refusals (its auth plugins answer so).
const (
	msgNotAuthenticated = "Not Authenticated"
	msgNotAuthorized    = "Not Authorized to perform this action"
)

// SessionCookie is the login cookie's name.
const SessionCookie = "drover_session"

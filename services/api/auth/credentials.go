package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Role is what an authenticated user may do.
type Role string

// Roles. A viewer reads (GET and HEAD of everything, the event stream
// included); an operator also writes (creates, changes, deletes, kills,
// restarts, abdicates).
const (
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
)

// allows reports whether the role may make a request with this method.
func (r Role) allows(method string) bool {
	switch r {
	case RoleOperator:
		return true
	case RoleViewer:
		return readOnly(method)
	}
	return false
}

// readOnly reports whether a method changes nothing: GET, HEAD, and
// OPTIONS (which says what a route allows).
func readOnly(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// CredentialsFile is the JSON file of users the api authenticates
// (--auth-file). It holds no secret in clear: passwords are bcrypt hashes
// (drover hash-password) and tokens SHA-256 hashes (drover new-token).
// Only sessionSecret is a secret: keep the file 0600.
//
//	{
//	  "users": [
//	    {"name": "alice", "role": "operator", "password": "$2a$10$..."},
//	    {"name": "grafana", "role": "viewer", "tokens": ["sha256:5e88..."]}
//	  ],
//	  "sessionSecret": "a long random string shared by every api replica",
//	  "sessionTTL": "12h"
//	}
type CredentialsFile struct {
	Users []CredentialUser `json:"users"`
	// SessionSecret signs the login cookies; every replica behind one
	// address needs the same. Without it each replica makes its own at
	// start, and a login holds on that replica until it restarts.
	SessionSecret string `json:"sessionSecret,omitempty"`
	// SessionTTL is how long a login lasts (a Go duration; 12h if unset).
	SessionTTL string `json:"sessionTTL,omitempty"`
}

// CredentialUser is one user of the credentials file: a password for HTTP
// basic authentication and the login form, tokens for bearer
// authentication, or both.
type CredentialUser struct {
	Name     string   `json:"name"`
	Role     Role     `json:"role"`
	Password string   `json:"password,omitempty"` // bcrypt hash
	Tokens   []string `json:"tokens,omitempty"`   // "sha256:<hex>" of each token
}

// TokenHashPrefix starts a token hash in the credentials file.
const TokenHashPrefix = "sha256:"

// HashToken is the credentials file's form of a bearer token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return TokenHashPrefix + hex.EncodeToString(sum[:])
}

// user is a user as the authenticator holds it.
type user struct {
	name     string
	role     Role
	password []byte // bcrypt hash; nil: no password login
	// stamp changes when the user's role or password does: login cookies
	// carry it, so such a change ends the user's sessions.
	stamp string
}

// credentials is a parsed credentials file.
type credentials struct {
	users      map[string]*user
	tokens     map[string]*user // by token hash
	secret     []byte           // nil: make one
	sessionTTL time.Duration
}

// LoadCredentials reads and checks a credentials file.
func LoadCredentials(path string) (*credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	creds, err := parseCredentials(data)
	if err != nil {
		return nil, fmt.Errorf("credentials %s: %w", path, err)
	}
	return creds, nil
}

func parseCredentials(data []byte) (*credentials, error) {
	var f CredentialsFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	c := &credentials{users: map[string]*user{}, tokens: map[string]*user{}, sessionTTL: 12 * time.Hour}
	var errs []error
	if f.SessionSecret != "" {
		if len(f.SessionSecret) < 32 {
			errs = append(errs, errors.New("sessionSecret must be at least 32 characters"))
		}
		c.secret = []byte(f.SessionSecret)
	}
	if f.SessionTTL != "" {
		d, err := time.ParseDuration(f.SessionTTL)
		if err != nil || d < time.Minute {
			errs = append(errs, fmt.Errorf("sessionTTL %q: want a duration of a minute or more", f.SessionTTL))
		}
		c.sessionTTL = d
	}
	if len(f.Users) == 0 {
		errs = append(errs, errors.New("no users"))
	}
	for i, u := range f.Users {
		at := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Name == "" || strings.ContainsAny(u.Name, ":\x00\r\n"):
			errs = append(errs, fmt.Errorf("%s: name %q is empty or holds ':' or a control character", at, u.Name))
			continue
		case c.users[u.Name] != nil:
			errs = append(errs, fmt.Errorf("%s: user %q twice", at, u.Name))
			continue
		case u.Role != RoleViewer && u.Role != RoleOperator:
			errs = append(errs, fmt.Errorf("%s (%s): role %q: want %q or %q", at, u.Name, u.Role, RoleViewer, RoleOperator))
		case u.Password == "" && len(u.Tokens) == 0:
			errs = append(errs, fmt.Errorf("%s (%s): neither a password nor a token", at, u.Name))
		}
		usr := &user{name: u.Name, role: u.Role}
		if u.Password != "" {
			if _, err := bcrypt.Cost([]byte(u.Password)); err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): password is not a bcrypt hash (make one with drover hash-password)", at, u.Name))
			}
			usr.password = []byte(u.Password)
		}
		for _, tk := range u.Tokens {
			h, ok := strings.CutPrefix(tk, TokenHashPrefix)
			if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != sha256.Size {
				errs = append(errs, fmt.Errorf("%s (%s): token %.12q... is not %s<64 hex digits> (make one with drover new-token)", at, u.Name, tk, TokenHashPrefix))
				continue
			}
			if c.tokens[strings.ToLower(tk)] != nil {
				errs = append(errs, fmt.Errorf("%s (%s): a token of another user", at, u.Name))
				continue
			}
			c.tokens[strings.ToLower(tk)] = usr
		}
		stamp := sha256.Sum256([]byte(string(u.Role) + "\x00" + u.Password))
		usr.stamp = hex.EncodeToString(stamp[:8])
		c.users[u.Name] = usr
	}
	return c, errors.Join(errs...)
}

package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// session is a login cookie's content: signed, not secret.
type session struct {
	User    string `json:"u"`
	Stamp   string `json:"s"` // the user's stamp at login
	Expires int64  `json:"e"` // unix seconds
}

// newSession makes a login cookie's value: base64(JSON).base64(HMAC).
func (a *authenticator) newSession(creds *credentials, u *user, now time.Time) (string, time.Time) {
	exp := now.Add(creds.sessionTTL)
	body, _ := json.Marshal(session{User: u.name, Stamp: u.stamp, Expires: exp.Unix()})
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + sign(creds.secret, payload), exp
}

func sign(secret []byte, payload string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("drover-session\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkSession returns the user of a valid, unexpired cookie whose role and
// password have not changed since the login.
func (a *authenticator) checkSession(creds *credentials, value string, now time.Time) *user {
	if len(value) > cookieMaxLen {
		return nil
	}
	payload, sig, ok := strings.Cut(value, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(sig), []byte(sign(creds.secret, payload))) != 1 {
		return nil
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var s session
	if json.Unmarshal(body, &s) != nil || now.Unix() >= s.Expires {
		return nil
	}
	u := creds.users[s.User]
	if u == nil || u.stamp != s.Stamp {
		return nil
	}
	return u
}

package natsauth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

// GenConfig says what Generate writes.
type GenConfig struct {
	// Dir is where the files go; created if missing.
	Dir string
	// InstallDir is where the files will be on the hosts that use them,
	// as the generated files name each other; "" is Dir's absolute path.
	InstallDir string
	// Agents are the agents' hostnames or ids: one user each.
	Agents []string
	// ServerHosts are the names and addresses the NATS servers are reached
	// at, for their certificate; "" adds localhost, 127.0.0.1 and ::1.
	ServerHosts []string
	// ValidFor is the certificates' lifetime (the CA's is twice as long).
	ValidFor time.Duration
	// Force makes everything anew; otherwise what exists (the CA, each
	// role's password, key and certificate) is kept, so adding an agent
	// changes nobody else's credentials.
	Force bool
	// BcryptCost is the cost of the password hashes in nats.conf
	// (bcrypt.DefaultCost when 0).
	BcryptCost int
}

// Files written by Generate, relative to its Dir.
const (
	FileConfig    = "nats.conf"
	FileCA        = "ca.pem"
	FileCAKey     = "ca-key.pem"
	FileServer    = "server.pem"
	FileServerKey = "server-key.pem"
	DirRoles      = "roles"
)

// RoleFiles names a role user's files under Dir: its environment (NATS
// user, password and TLS files, as DROVER_ variables), certificate and key.
func RoleFiles(user string) (env, cert, key string) {
	return filepath.Join(DirRoles, user+".env"), filepath.Join(DirRoles, user+".pem"), filepath.Join(DirRoles, user+"-key.pem")
}

// Credential is one role user as Generate made it.
type Credential struct {
	User     string
	Role     string
	AgentID  string // for RoleAgent
	Password string
}

// Generate writes a NATS server configuration with one user per role (the
// api, the scheduler, each agent) and the role's permissions, TLS for
// clients and for the cluster's routes (verify: clients need a certificate
// of the CA), and, per role user, an environment file for the drover
// command with its credentials. It returns the users.
func Generate(cfg GenConfig) ([]Credential, error) {
	if cfg.Dir == "" {
		return nil, errors.New("natsauth: an output directory is required")
	}
	if cfg.ValidFor <= 0 {
		cfg.ValidFor = 2 * 365 * 24 * time.Hour
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	install := cfg.InstallDir
	if install == "" {
		abs, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, err
		}
		install = abs
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, DirRoles), 0o700); err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	creds, err := roleCredentials(cfg.Agents)
	if err != nil {
		return nil, err
	}

	path := func(rel string) string { return filepath.Join(cfg.Dir, rel) }
	ca, err := readKeyPair(path(FileCA), path(FileCAKey))
	if err != nil || cfg.Force {
		if ca, err = newCA("Drover NATS CA", 2*cfg.ValidFor); err != nil {
			return nil, err
		}
		if err := ca.write(path(FileCA), path(FileCAKey)); err != nil {
			return nil, err
		}
		cfg.Force = true // everything signed by the old CA is void
	}
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, cfg.ServerHosts...)
	if err := ensurePair(ca, "nats-server", hosts, true, cfg, path(FileServer), path(FileServerKey)); err != nil {
		return nil, err
	}

	var users []*server.User
	for i := range creds {
		u, err := roleUser(cfg, ca, &creds[i], install)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	if err := writeConfig(path(FileConfig), install, users); err != nil {
		return nil, err
	}
	return creds, nil
}

// roleCredentials are the role users to make: the api, the scheduler, and
// one for each agent (named by hostname or id; blanks and repeats skipped).
func roleCredentials(agents []string) ([]Credential, error) {
	creds := []Credential{{User: RoleAPI, Role: RoleAPI}, {User: RoleScheduler, Role: RoleScheduler}}
	seen := map[string]bool{}
	for _, a := range agents {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		id := events.AgentIDFromHostname(a)
		if !events.ValidAgentID(id) {
			return nil, fmt.Errorf("natsauth: agent %q has no valid id", a)
		}
		if !seen[id] {
			seen[id] = true
			creds = append(creds, Credential{User: AgentUser(id), Role: RoleAgent, AgentID: id})
		}
	}
	return creds, nil
}

// roleUser completes a role user's credential (its password kept from its
// environment file unless cfg.Force, else made), ensures its certificate,
// writes its environment file, and returns it as nats.conf names it: with
// its password's hash and its role's permissions.
func roleUser(cfg GenConfig, ca *keyPair, c *Credential, install string) (*server.User, error) {
	path := func(rel string) string { return filepath.Join(cfg.Dir, rel) }
	envRel, certRel, keyRel := RoleFiles(c.User)
	if !cfg.Force {
		c.Password = readEnv(path(envRel))["DROVER_NATS_PASSWORD"]
	}
	if c.Password == "" {
		c.Password = randomSecret()
	}
	if err := ensurePair(ca, c.User, nil, false, cfg, path(certRel), path(keyRel)); err != nil {
		return nil, err
	}
	if err := writeEnv(path(envRel), *c, install); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(c.Password), cfg.BcryptCost)
	if err != nil {
		return nil, err
	}
	perms, err := RolePermissions(c.Role, c.AgentID)
	if err != nil {
		return nil, err
	}
	return &server.User{Username: c.User, Password: string(hash), Permissions: perms}, nil
}

// ensurePair issues a certificate unless a readable one exists (and Force is off).
func ensurePair(ca *keyPair, name string, hosts []string, isServer bool, cfg GenConfig, certFile, keyFile string) error {
	if !cfg.Force {
		if kp, err := readKeyPair(certFile, keyFile); err == nil && kp.cert.CheckSignatureFrom(ca.cert) == nil &&
			(!isServer || slices.Equal(kp.cert.DNSNames, dnsNames(hosts))) {
			return nil
		}
	}
	kp, err := ca.issue(name, hosts, isServer, cfg.ValidFor)
	if err != nil {
		return err
	}
	return kp.write(certFile, keyFile)
}

func dnsNames(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if !strings.ContainsAny(h, ":") && !isIP(h) {
			out = append(out, h)
		}
	}
	return out
}

func isIP(h string) bool {
	for _, r := range h {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return h != ""
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeEnv writes a role's environment file (0600).
func writeEnv(file string, c Credential, install string) error {
	_, certRel, keyRel := RoleFiles(c.User)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# NATS credentials of the drover %s (NATS user %q), made by `drover nats gen-config`.\n", c.Role, c.User)
	fmt.Fprintf(&b, "# Secret: keep it 0600. Load it with systemd's EnvironmentFile= or `set -a; . %s; set +a`.\n", filepath.Base(file))
	fmt.Fprintf(&b, "DROVER_NATS_USER=%s\nDROVER_NATS_PASSWORD=%s\n", c.User, c.Password)
	fmt.Fprintf(&b, "DROVER_NATS_TLS_CA=%s\n", filepath.Join(install, FileCA))
	fmt.Fprintf(&b, "DROVER_NATS_TLS_CERT=%s\nDROVER_NATS_TLS_KEY=%s\n", filepath.Join(install, certRel), filepath.Join(install, keyRel))
	switch c.Role {
	case RoleAgent:
		b.WriteString("# An agent's user serves that agent id only; only the scheduler sets up streams.\n")
		fmt.Fprintf(&b, "DROVER_AGENT_ID=%s\nDROVER_SETUP=false\n", c.AgentID)
	case RoleAPI:
		b.WriteString("# Only the scheduler may create or change streams and buckets.\nDROVER_SETUP=false\n")
	}
	return os.WriteFile(file, b.Bytes(), 0o600)
}

// readEnv reads KEY=VALUE lines; nil when the file is unreadable.
func readEnv(file string) map[string]string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

// confUser is a user as nats.conf spells it.
type confUser struct {
	User        string    `json:"user"`
	Password    string    `json:"password"`
	Permissions confPerms `json:"permissions"`
}

type confPerms struct {
	Publish   confSubjects `json:"publish"`
	Subscribe confSubjects `json:"subscribe"`
	// Responses lets the user answer the requests it receives.
	Responses *confResponses `json:"allow_responses,omitempty"`
}

type confResponses struct {
	Max     int    `json:"max"`
	Expires string `json:"expires"`
}

type confSubjects struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

func toConf(u *server.User) confUser {
	cu := confUser{User: u.Username, Password: u.Password}
	if p := u.Permissions; p != nil {
		if p.Publish != nil {
			cu.Permissions.Publish = confSubjects{Allow: p.Publish.Allow, Deny: p.Publish.Deny}
		}
		if p.Subscribe != nil {
			cu.Permissions.Subscribe = confSubjects{Allow: p.Subscribe.Allow, Deny: p.Subscribe.Deny}
		}
		if r := p.Response; r != nil {
			cu.Permissions.Responses = &confResponses{Max: r.MaxMsgs, Expires: r.Expires.String()}
		}
	}
	return cu
}

// writeConfig writes nats.conf (0600: it holds the password hashes): TLS
// for clients and routes, and the users. Values are JSON, which the NATS
// configuration format reads as is.
func writeConfig(file, install string, users []*server.User) error {
	tls := map[string]any{
		"cert_file": filepath.Join(install, FileServer),
		"key_file":  filepath.Join(install, FileServerKey),
		"ca_file":   filepath.Join(install, FileCA),
		"verify":    true,
		"timeout":   5,
	}
	conf := make([]confUser, len(users))
	for i, u := range users {
		conf[i] = toConf(u)
	}
	var b bytes.Buffer
	b.WriteString("# Drover's NATS configuration, made by `drover nats gen-config`: run it with\n")
	b.WriteString("#   drover nats --config " + filepath.Join(install, FileConfig) + " --name n1 ...\n")
	b.WriteString("# TLS with client certificates for clients and cluster routes; one user per\n")
	b.WriteString("# role with that role's permissions (docs/SECURITY.md). Passwords are bcrypt\n")
	b.WriteString("# hashes; each role's own password is in roles/<user>.env. After adding an\n")
	b.WriteString("# agent (run gen-config again), send the running servers SIGHUP to reload.\n")
	for _, kv := range []struct {
		key string
		val any
	}{
		{"tls", tls},
		{"cluster", map[string]any{"tls": tls}},
		{"authorization", map[string]any{"users": conf}},
	} {
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		b.WriteString(kv.key + ": ")
		if err := enc.Encode(kv.val); err != nil {
			return err
		}
	}
	return os.WriteFile(file, b.Bytes(), 0o600)
}

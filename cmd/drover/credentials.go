package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/drover/drover/services/api/auth"
	"golang.org/x/crypto/bcrypt"
)

// hashPasswordCmd makes the password hash of a user of the API's
// credentials file.
type hashPasswordCmd struct {
	Cost int `default:"10" help:"bcrypt cost, 10 to 14: each step doubles the work of a check (and of a guess)."`
}

func (c *hashPasswordCmd) Run() error {
	if c.Cost < 10 || c.Cost > 14 {
		return fmt.Errorf("--cost %d: want 10 to 14", c.Cost)
	}
	if st, err := os.Stdin.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprint(os.Stderr, "Password (read from standard input, shown as typed; pipe it in to hide it): ")
	}
	pw, err := readLine(os.Stdin)
	if err != nil {
		return err
	}
	if len(pw) < 8 {
		return errors.New("the password has fewer than 8 characters")
	}
	if len(pw) > 72 {
		return errors.New("bcrypt reads at most 72 bytes of a password")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), c.Cost)
	if err != nil {
		return err
	}
	fmt.Println(string(hash))
	return nil
}

// readLine reads the first line of r, without its line ending.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

// newTokenCmd makes a bearer token and the hash the credentials file holds.
type newTokenCmd struct{}

func (newTokenCmd) Run() error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	token := "drv_" + base64.RawURLEncoding.EncodeToString(b)
	fmt.Fprintln(os.Stderr, "First line: the token, for the client (Authorization: Bearer <token>); it is not stored anywhere.")
	fmt.Fprintln(os.Stderr, "Second line: its hash, for the \"tokens\" of a user in the credentials file (--auth-file).")
	fmt.Println(token)
	fmt.Println(auth.HashToken(token))
	return nil
}

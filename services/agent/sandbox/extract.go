package sandbox

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/ulikunitz/xz"
)

// extractor unpacks the archive name into dir, both relative to root.
type extractor func(root *os.Root, name, dir string, lim FetchLimits) error

// extractorFor picks an extractor by the name's extension, as Mesos'
// fetcher does; nil for a file that is not an archive.
func extractorFor(name string) extractor {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar"):
		return tarWith(func(r io.Reader) (io.Reader, error) { return r, nil })
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return tarWith(func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) })
	case strings.HasSuffix(n, ".tar.bz2"), strings.HasSuffix(n, ".tbz2"):
		return tarWith(func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil })
	case strings.HasSuffix(n, ".tar.xz"), strings.HasSuffix(n, ".txz"):
		return tarWith(func(r io.Reader) (io.Reader, error) { return xz.NewReader(r) })
	case strings.HasSuffix(n, ".zip"):
		return extractZip
	case strings.HasSuffix(n, ".gz"):
		return gunzip
	}
	return nil
}

// budget counts what an archive unpacks to against the limits.
type budget struct {
	lim     FetchLimits
	bytes   int64
	entries int
}

func (b *budget) entry() error {
	if b.entries++; b.entries > b.lim.MaxEntries {
		return fmt.Errorf("more than %d entries", b.lim.MaxEntries)
	}
	return nil
}

// copy writes r to w, failing once the archive's total passes the limit.
func (b *budget) copy(w io.Writer, r io.Reader) error {
	left := b.lim.MaxExtractedBytes - b.bytes
	n, err := io.Copy(w, io.LimitReader(r, left+1))
	b.bytes += n
	if err == nil && n > left {
		err = fmt.Errorf("unpacks to more than the %d bytes allowed", b.lim.MaxExtractedBytes)
	}
	return err
}

// entryPath is where an archive entry goes, relative to root: inside dir,
// or an error (an absolute name, a name climbing out with ..).
func entryPath(dir, name string) (string, error) {
	clean, err := sandboxPath(name)
	if err != nil {
		return "", fmt.Errorf("entry %q: %w", name, err)
	}
	return path.Join(dir, clean), nil
}

// perm keeps an entry's permission bits, never setuid, setgid or sticky.
func perm(m fs.FileMode) fs.FileMode { return m.Perm() }

func tarWith(decompress func(io.Reader) (io.Reader, error)) extractor {
	return func(root *os.Root, name, dir string, lim FetchLimits) error {
		f, err := root.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r, err := decompress(f)
		if err != nil {
			return fmt.Errorf("extract %s: not a valid archive: %w", name, err)
		}
		if err := untar(root, tar.NewReader(r), dir, &budget{lim: lim}); err != nil {
			return fmt.Errorf("extract %s: %w", name, err)
		}
		return nil
	}
}

func untar(root *os.Root, tr *tar.Reader, dir string, b *budget) error {
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return errors.New("not a tar archive: no entries")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("not a valid archive: %w", err)
		}
		if err := b.entry(); err != nil {
			return err
		}
		p, err := entryPath(dir, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(p, perm(h.FileInfo().Mode())|0o700)
		case tar.TypeReg:
			err = writeEntry(root, p, perm(h.FileInfo().Mode()), tr, b)
		case tar.TypeSymlink:
			err = symlinkEntry(root, p, h.Linkname)
		case tar.TypeLink:
			var target string
			if target, err = entryPath(dir, h.Linkname); err == nil {
				err = linkEntry(root, target, p)
			}
		default:
			// Devices, fifos and the like are left out: a sandbox holds files.
		}
		if err != nil {
			return err
		}
	}
}

func extractZip(root *os.Root, name, dir string, lim FetchLimits) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return fmt.Errorf("extract %s: not a valid archive: %w", name, err)
	}
	b := &budget{lim: lim}
	for _, zf := range zr.File {
		if err := b.entry(); err != nil {
			return fmt.Errorf("extract %s: %w", name, err)
		}
		if err := unzipEntry(root, dir, zf, b); err != nil {
			return fmt.Errorf("extract %s: %w", name, err)
		}
	}
	return nil
}

func unzipEntry(root *os.Root, dir string, zf *zip.File, b *budget) error {
	p, err := entryPath(dir, zf.Name)
	if err != nil {
		return err
	}
	mode := zf.Mode()
	switch {
	case mode.IsDir():
		return root.MkdirAll(p, perm(mode)|0o700)
	case mode&fs.ModeSymlink != 0:
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		target, err := io.ReadAll(io.LimitReader(rc, 4096))
		rc.Close()
		if err != nil {
			return err
		}
		return symlinkEntry(root, p, string(target))
	case mode.IsRegular():
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		if perm(mode) == 0 {
			mode = 0o644 // archives made on Windows have no Unix mode
		}
		return writeEntry(root, p, perm(mode), rc, b)
	}
	return nil
}

// gunzip unpacks a gzip file (not a tarball) beside it, without .gz.
func gunzip(root *os.Root, name, dir string, lim FetchLimits) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("extract %s: not a valid archive: %w", name, err)
	}
	out := name[:len(name)-len(".gz")]
	if err := writeEntry(root, out, 0o644, zr, &budget{lim: lim}); err != nil {
		return fmt.Errorf("extract %s: %w", name, err)
	}
	return nil
}

// writeEntry writes a file through root, which refuses any path that
// leaves it, a symlink on the way included; an existing file is replaced.
func writeEntry(root *os.Root, p string, mode fs.FileMode, r io.Reader, b *budget) error {
	if err := mkParent(root, p); err != nil {
		return err
	}
	_ = root.Remove(p) // never write through what an earlier entry left there
	out, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	err = b.copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Chmod(p, mode) // the umask may have narrowed it
	}
	return err
}

// symlinkEntry makes a symlink inside the sandbox pointing inside it: an
// absolute target, or one that climbs out, is refused.
func symlinkEntry(root *os.Root, p, target string) error {
	if path.IsAbs(target) {
		return fmt.Errorf("symlink %q -> %q: %w", p, target, errTraversal)
	}
	if _, err := sandboxPath(path.Join(path.Dir(p), target)); err != nil {
		return fmt.Errorf("symlink %q -> %q: %w", p, target, err)
	}
	if err := mkParent(root, p); err != nil {
		return err
	}
	_ = root.Remove(p)
	return root.Symlink(target, p)
}

func linkEntry(root *os.Root, target, p string) error {
	if err := mkParent(root, p); err != nil {
		return err
	}
	_ = root.Remove(p)
	return root.Link(target, p)
}

func mkParent(root *os.Root, p string) error {
	if d := path.Dir(p); d != "." {
		return root.MkdirAll(d, 0o755)
	}
	return nil
}

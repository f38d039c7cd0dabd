package consumers

import (
	"testing"

	"github.com/drover/drover/test/consumertest"
)

func TestMain(m *testing.M) { consumertest.Main(m) }

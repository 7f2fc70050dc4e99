// Package warehouse is the warehouse client library (a pinned copy of the in-house module).
package warehouse

import "fmt"

// Row is one row: column name to value.
type Row map[string]string

// Source serves whole datasets: the warehouse service, or fixtures in tests.
type Source interface {
	Rows(dataset string) ([]Row, error)
}

// Client reads datasets from a Source.
type Client struct {
	source Source
}

// New returns a client over source.
func New(source Source) *Client { return &Client{source: source} }

// Query returns every row of dataset with every column.
//
// Deprecated: use Scan, which reads only the columns asked for. Removed in v3.
func (c *Client) Query(dataset string) ([]Row, error) {
	return c.source.Rows(dataset)
}

// Scan calls fn with each row of dataset, holding just columns; it stops at fn's first error
// and returns it.
func (c *Client) Scan(dataset string, columns []string, fn func(Row) error) error {
	if len(columns) == 0 {
		return fmt.Errorf("scan %s: no columns", dataset)
	}
	rows, err := c.source.Rows(dataset)
	if err != nil {
		return err
	}
	for _, row := range rows {
		narrow := make(Row, len(columns))
		for _, column := range columns {
			narrow[column] = row[column]
		}
		if err := fn(narrow); err != nil {
			return err
		}
	}
	return nil
}

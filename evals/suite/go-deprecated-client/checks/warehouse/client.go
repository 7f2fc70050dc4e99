// Package warehouse is the warehouse client library, as of the release that removes Query.
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

// Query is gone in this release; it only reports so.
//
// Deprecated: use Scan.
func (c *Client) Query(dataset string) ([]Row, error) {
	return nil, fmt.Errorf("warehouse: Query(%q) was removed; use Scan", dataset)
}

// Scan calls fn with each row of dataset, holding just columns; it stops at fn's first error
// and returns it. A column the dataset does not have is an error.
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
			value, ok := row[column]
			if !ok {
				return fmt.Errorf("scan %s: no column %s", dataset, column)
			}
			narrow[column] = value
		}
		if err := fn(narrow); err != nil {
			return err
		}
	}
	return nil
}

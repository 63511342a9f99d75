package provider

import "github.com/hashicorp/terraform-plugin-framework/datasource"

func newHostFactsDataSource() datasource.DataSource { return nil }

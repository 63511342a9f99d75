terraform {
  required_version = ">= 1.8"
  required_providers {
    mcpai = {
      source = "mcpai/mcpai"
    }
  }
}

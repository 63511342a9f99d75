terraform {
  required_version = ">= 1.9"
  required_providers {
    mcpai = {
      source = "mcpai/mcpai"
    }
  }
}

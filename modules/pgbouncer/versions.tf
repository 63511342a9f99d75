terraform {
  # 1.9: validation rules that refer to other variables.
  required_version = ">= 1.9"
  required_providers {
    mcpai = {
      source = "mcpai/mcpai"
    }
  }
}

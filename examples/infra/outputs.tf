# The host map read by the conveyor.cicd.terraform_hosts inventory plugin:
# host name -> { address, groups, vars }.
output "hosts" {
  description = "Provisioned hosts: name -> {address, groups, vars}."
  value = {
    for name, host in terraform_data.host : name => {
      address = var.address
      groups  = host.output.groups
      vars = merge(
        {
          deploy_root = host.output.root
          deploy_port = host.output.port
        },
        var.connection != "" ? { ansible_connection = var.connection } : {},
      )
    }
  }
}

output "environment" {
  description = "The group this workspace provisions (empty: every host)."
  value       = local.environment
}

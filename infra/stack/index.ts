export { stackUp, stackDown, stackStatus, stackLogDir } from './stack';
export type { StackOptions } from './stack';
export type { ServiceStatus, ServiceMode } from './service';
export type { ProvisionReport } from './provision';
export { StackError } from './errors';

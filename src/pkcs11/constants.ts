// PKCS#11 v2.40 constant values used by the driver (pkcs11js exposes them only on its CommonJS default export,
// which ESM named imports cannot see; the values are fixed by the standard).
export const CKF_OS_LOCKING_OK = 0x00000002;
export const CKF_TOKEN_PRESENT = 0x00000001;
export const CKF_REMOVABLE_DEVICE = 0x00000002;
export const CKF_HW_SLOT = 0x00000004;
export const CKF_WRITE_PROTECTED = 0x00000002;
export const CKF_LOGIN_REQUIRED = 0x00000004;
export const CKF_USER_PIN_INITIALIZED = 0x00000008;
export const CKF_PROTECTED_AUTHENTICATION_PATH = 0x00000100;
export const CKF_TOKEN_INITIALIZED = 0x00000400;
export const CKF_USER_PIN_COUNT_LOW = 0x00010000;
export const CKF_USER_PIN_FINAL_TRY = 0x00020000;
export const CKF_USER_PIN_LOCKED = 0x00040000;
export const CKF_USER_PIN_TO_BE_CHANGED = 0x00080000;
export const CKS_RO_USER_FUNCTIONS = 1;
export const CKS_RW_USER_FUNCTIONS = 3;
